"""One module per rule family; each `build(path)` writes a workbook in which every rule of its family fires."""
