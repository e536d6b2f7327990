"""The fast paths: im2col windows and the thread pool, the only place threads appear."""
