// The load harness library: see the brief.
