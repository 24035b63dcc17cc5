/** What every model is built from: the data's shape and the number of classes. */
export interface ModelSpec {
  inChannels: number;
  numClasses: number;
  /** Side of the (square) input images; models with global pooling accept any size. */
  imageSize: number;
}
