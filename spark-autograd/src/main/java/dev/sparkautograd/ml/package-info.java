/**
 * Spark ML stages trained with the library's autograd over the partitioned rows:
 * {@link dev.sparkautograd.ml.AutogradClassifier} and {@link dev.sparkautograd.ml.AutogradRegressor} (Estimators
 * for Pipelines, CrossValidator and the evaluators; full-batch L-BFGS, Newton-CG, Adam or SGD, or mini-batch Adam
 * or SGD; the built-in Linear layers or a user's {@code nn.Module}) and their models
 * {@link dev.sparkautograd.ml.AutogradClassificationModel} and {@link dev.sparkautograd.ml.AutogradRegressionModel}.
 * Needs spark-mllib at run time (a provided dependency, as Spark itself).
 */
package dev.sparkautograd.ml;
