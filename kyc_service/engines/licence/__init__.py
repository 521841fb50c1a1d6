"""The US driver licence and ID card front reader, on OCR boxes with geometry: parser.py reads a
front (its docstring says what the reading relies on); reading, address, numbers, dates and
names are its parts."""
