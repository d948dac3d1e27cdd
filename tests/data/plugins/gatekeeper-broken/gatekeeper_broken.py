raise ImportError("gatekeeper_broken needs a library that is not installed")
