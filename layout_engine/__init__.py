"""Pages, layout versions, validation, publish gates and the page resolver."""
