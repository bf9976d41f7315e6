"""The storefront surface: the JSON a shop calls for its shoppers (resolve, events, privacy)."""
