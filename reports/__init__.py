"""Reports: a site's rooms judged over a week (or any range) as one model, written out as CSV,
XLSX, self-contained HTML or PDF.

`model.build_report` is pure (minute means and action records in, a `Report` out); each
format is one module that renders a `Report` and nothing else, so every format shows the same
figures. `inputs.load_report` is the edge that reads the store and the action log.
"""
