"""Dataset download scripts and DeepLab-format TFRecord builders."""
