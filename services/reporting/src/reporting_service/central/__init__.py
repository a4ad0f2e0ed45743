"""The central office (主管部门): roll-ups across bureaus and the dashboard (pure)."""
