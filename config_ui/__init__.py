"""The HTML side of Tessera: page list and shopper preview (the editor comes next)."""
