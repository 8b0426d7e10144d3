"""Everything the agent writes for the model: the harmony prompt (with the TypeScript tools
block), the Hermes tools prompt, and the re-ask nudges."""
