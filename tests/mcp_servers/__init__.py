"""Small MCP servers used by the MCP tests (stdio and streamable HTTP)."""
