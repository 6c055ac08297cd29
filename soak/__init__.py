"""Soak run: hooksim serve under steady load with a fault schedule on its receiver (`make soak`)."""
