"""The sites of a fleet: the site registry (:mod:`.registry`), what each site is, kept in the sites table."""
