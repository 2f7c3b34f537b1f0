"""Reports: the standard summary table, the KPI ranking and the plan appendix, to Excel and CSV."""
