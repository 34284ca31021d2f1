"""Package data: the single definition of every table (tables/*.sql) and JSON Schema (llm/, release/)."""
