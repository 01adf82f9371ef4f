#!/usr/bin/env bash
# Real Maven-side tools for tests/e2e/test_maven_*.py and bench/maven.py: mvn runs with its
# plugins taken from Debian's packages (/usr/share/maven-repo), so no test ever reaches a
# public repository; nginx (WebDAV) is the peer bench/maven.py times deploys against.
# Idempotent: does nothing when everything is present. Runs as root on a fresh CI machine.
set -euo pipefail

packages=(
    maven
    libmaven-deploy-plugin-java
    libmaven-install-plugin-java
    libmaven-resources-plugin-java
    libmaven-compiler-plugin-java
    libmaven-jar-plugin-java
    libsurefire-java
    maven-repo-helper
    nginx
)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    for attempt in 1 2 3 4 5 6; do  # another installer may hold the dpkg lock for a while
        if $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install \
            -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
            break
        fi
        [ "$attempt" -lt 6 ] || { echo "maven.sh: apt-get install failed" >&2; exit 1; }
        sleep 10
    done
fi
test -d /usr/share/maven-repo/org/apache/maven/plugins/maven-deploy-plugin \
    || { echo "maven.sh: Debian's maven-deploy-plugin is missing" >&2; exit 1; }
mvn -v >/dev/null
command -v nginx >/dev/null
