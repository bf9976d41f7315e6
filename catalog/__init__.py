"""The catalog: item values (pure), the table, and reads; every package that shows or filters items imports it."""
