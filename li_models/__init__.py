"""DeepLabv3+ models with lateral-inhibition backbones and heads."""
