/**
 * Spark ML stages trained with the library's autograd over the partitioned rows:
 * {@link dev.sparkautograd.ml.AutogradClassifier} (an Estimator for Pipelines, CrossValidator and the
 * evaluators) and its {@link dev.sparkautograd.ml.AutogradClassificationModel}. Needs spark-mllib at run time
 * (a provided dependency, as Spark itself).
 */
package dev.sparkautograd.ml;
