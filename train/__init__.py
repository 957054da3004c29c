"""QLoRA SFT on a frozen dataset version, evaluation against the base model, and export."""
