"""What notebooks call and display: DataFrames of queries, views (tables, KPIs), widgets, charts."""
