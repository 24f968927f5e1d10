"""The webhook inbox: receive and verify deliveries, store them durably, process them in a worker."""
