print("claimline-load: not yet")
