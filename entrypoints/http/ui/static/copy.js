// Copy buttons for the commands on item pages. Progressive enhancement: without
// JavaScript the command is plain selectable text; with it, a button copies it.
"use strict";
(function () {
  function copyText(text, done) {
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () {});
      return;
    }
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "offscreen";
    document.body.appendChild(area);
    area.select();
    try { if (document.execCommand("copy")) { done(); } } catch (err) { /* leave it selectable */ }
    document.body.removeChild(area);
  }
  function enhance() {
    var blocks = document.querySelectorAll("pre.copyable");
    Array.prototype.forEach.call(blocks, function (pre) {
      var heading = pre.parentNode.querySelector("h2");
      var label = heading ? heading.textContent : "command";
      var button = document.createElement("button");
      button.type = "button";
      button.className = "copy";
      button.textContent = "Copy";
      button.setAttribute("aria-label", "Copy " + label);
      button.addEventListener("click", function () {
        copyText(pre.textContent, function () {
          button.textContent = "Copied";
          window.setTimeout(function () { button.textContent = "Copy"; }, 2000);
        });
      });
      pre.parentNode.appendChild(button);
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", enhance);
  } else {
    enhance();
  }
})();
