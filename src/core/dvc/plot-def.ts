// A type of its own module, with no I/O: the browser code (src/ui/app) draws these plots.
/** One plot definition of dvc.yaml, with DVC's properties. */
export interface DvcPlotDef {
  /** a file or folder path, or a plot id when `files` is set */
  id: string
  /** the data files when the id is not a path (`y: {file: column}`) */
  files?: string[]
  template?: string
  x?: string
  y?: string
  title?: string
  x_label?: string
  y_label?: string
}
