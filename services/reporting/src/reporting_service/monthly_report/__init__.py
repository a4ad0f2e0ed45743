"""The monthly statistics (本期 and 本年累计) of a bureau, from the annual report's facts."""
