"""The annual report (政府信息公开工作年度报告): built from facts with no I/O, checked, and
written out as JSON, CSV, XLSX and HTML."""
