"""`drumkit perf`: start the model's server as a child process, send it load, report latency and memory."""
