"""The webhook inbox: verify deliveries, store them durably, process them in a worker."""
