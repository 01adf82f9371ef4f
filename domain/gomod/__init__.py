"""Go modules: the GOPROXY protocol, hosted modules and a pull-through cache."""
