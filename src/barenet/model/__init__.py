"""The trained model: a network with what it remembers, saved, loaded and exported.

A model remembers its input shape, class names, normalisation, calibration and "not
sure" rule; it takes raw images and gives calibrated probabilities.
"""
