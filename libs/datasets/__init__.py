"""Dataset descriptors, TFRecord parsing and DeepLab preprocessing."""
