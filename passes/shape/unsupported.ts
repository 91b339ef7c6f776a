/**
 * Ops fleetc deliberately has no shape function for, with the reason. Shape inference reports
 * these as `unsupported: <op> (<reason>)` instead of a bare "no shape function"; their outputs
 * keep the types the model declares.
 */
const ML = 'ai.onnx.ml (classical ML: trees, encoders, scalers) is outside what fleetc compiles';
const TRAINING = 'ai.onnx.preview.training: training-time ops; fleetc compiles inference graphs';
const REASONS: Record<string, string> = {
  'ai.onnx.ml:ArrayFeatureExtractor': ML,
  'ai.onnx.ml:Binarizer': ML,
  'ai.onnx.ml:CastMap': ML,
  'ai.onnx.ml:CategoryMapper': ML,
  'ai.onnx.ml:DictVectorizer': ML,
  'ai.onnx.ml:FeatureVectorizer': ML,
  'ai.onnx.ml:Imputer': ML,
  'ai.onnx.ml:LabelEncoder': ML,
  'ai.onnx.ml:LinearClassifier': ML,
  'ai.onnx.ml:LinearRegressor': ML,
  'ai.onnx.ml:Normalizer': ML,
  'ai.onnx.ml:OneHotEncoder': ML,
  'ai.onnx.ml:SVMClassifier': ML,
  'ai.onnx.ml:SVMRegressor': ML,
  'ai.onnx.ml:Scaler': ML,
  'ai.onnx.ml:TreeEnsemble': ML,
  'ai.onnx.ml:TreeEnsembleClassifier': ML,
  'ai.onnx.ml:TreeEnsembleRegressor': ML,
  'ai.onnx.ml:ZipMap': ML,
  'ai.onnx.preview.training:Adagrad': TRAINING,
  'ai.onnx.preview.training:Adam': TRAINING,
  'ai.onnx.preview.training:Momentum': TRAINING,
  'ai.onnx.preview.training:Gradient': `${TRAINING} (Gradient also needs autodiff of the graph)`,
};

/** The reason an op (`Op` or `domain:Op`) is unsupported, if it is one of the listed ones. */
export function unsupportedReason(key: string): string | undefined {
  return Object.prototype.hasOwnProperty.call(REASONS, key) ? REASONS[key] : undefined;
}

/** Every listed op with its reason, sorted (for docs and tests). */
export function unsupportedOps(): [string, string][] {
  return Object.entries(REASONS).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
