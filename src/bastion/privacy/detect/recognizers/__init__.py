"""Built-in recognizers: regex + checksum families and the dictionary/shape families."""
