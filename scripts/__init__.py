"""Developer tools that run NORA as a local cluster: a TCP balancer and ``make serve-cluster``."""
