package dev.sparkautograd.jobs.bench;

import dev.sparkautograd.DistData;
import dev.sparkautograd.DistTensor;
import dev.sparkautograd.Tensor;
import dev.sparkautograd.jobs.models.SparseSynthetic;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.ml.feature.Instance;
import org.apache.spark.ml.feature.InstanceBlock;
import org.apache.spark.ml.linalg.Vector;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.storage.RDDInfo;
import org.apache.spark.storage.StorageLevel;


/**
 * The {@code sparse-logistic} bench row: the mean logistic loss and its gradient on hashed-feature data
 * ({@link SparseSynthetic}: {@code features} wide, {@code nnz} active features per row), the same rows in the same
 * partitions cached twice: as spark-autograd's CSR blocks (about 1 MB of non-zeros each) and as MLlib's sparse
 * {@code InstanceBlock}s, built by {@code InstanceBlock.blokifyWithMaxMemUsage} with MLlib's default budget of
 * {@code InstanceBlock.DefaultBlockSizeInMB} (1 MB: what {@code LogisticRegression} uses when
 * {@code maxBlockSizeInMB} is 0, and the same budget as ours, so neither side gets bigger blocks).
 */
public final class SparseLogistic implements AutoCloseable {

    public final long rows;
    public final int features, nnz;
    public final DistData data;
    public final JavaRDD<InstanceBlock> blocks;
    public final double[] coef;
    private final JavaSparkContext sc;

    public SparseLogistic(SparkSession spark, long rows, int features, int nnz, int partitions, long seed) {
        this.rows = rows;
        this.features = features;
        this.nnz = nnz;
        this.sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        Dataset<Row> df = new SparseSynthetic(features, nnz, rows, partitions, seed).dataset(spark).select("features", "label");
        data = DistData.fromDataset(df, DistData.options().sparse(true).storageLevel(StorageLevel.MEMORY_ONLY()), "features", "label");
        data.blocks().count();
        long maxMemUsage = (long) (InstanceBlock.DefaultBlockSizeInMB() * 1024 * 1024);
        JavaRDD<Instance> instances = df.javaRDD().map(r -> new Instance(r.getDouble(1), 1.0, (Vector) r.get(0)));
        blocks = InstanceBlock.blokifyWithMaxMemUsage(instances.rdd(), maxMemUsage).toJavaRDD();
        blocks.persist(StorageLevel.MEMORY_ONLY()).setName("MLlib InstanceBlocks");
        blocks.count();
        coef = Tensor.randn(seed + 1, features + 1).mul(0.01).toArray();
    }

    /** Bytes of the cached RDD {@code id} in memory. */
    private long cached(int id) {
        for (RDDInfo info : sc.sc().getRDDStorageInfo()) if (info.id() == id) return info.memSize();
        return -1;
    }

    public long autogradCachedBytes() {
        return cached(data.blocks().id());
    }

    public long mllibCachedBytes() {
        return cached(blocks.id());
    }

    /** [loss, gradient of w..., gradient of b] with spark-autograd: one fused job, sparse partials, tree reduce. */
    public double[] autograd() {
        Tensor w = Tensor.fromArray(java.util.Arrays.copyOf(coef, features), features).requiresGrad_(true);
        Tensor b = Tensor.scalar(coef[features]).requiresGrad_(true);
        DistTensor z = data.tensor("features").matmul(w).add(b);
        Tensor loss = z.softplus().sub(data.tensor("label").mul(z)).mean();
        loss.backward();
        double[] out = new double[features + 2];
        out[0] = loss.item();
        System.arraycopy(w.grad().toArrayUnsafe(), 0, out, 1, features);
        out[features + 1] = b.grad().item();
        return out;
    }

    /**
     * The same with MLlib, as {@code RDDLossFunction.calculate} runs it: the coefficients broadcast, one
     * {@code BinaryLogisticBlockAggregator} per partition adding its InstanceBlocks, the aggregators' arrays
     * tree-reduced with depth 2, loss and gradient divided by the weight sum. (The partials travel as their
     * {@code (weightSum, lossSum, gradientSumArray)} arrays, what {@code merge} adds: the aggregator class is not
     * Kryo-registered.)
     */
    public double[] mllib() {
        return Logistic.mllib(sc, blocks, coef);
    }

    @Override
    public void close() {
        data.unpersist();
        blocks.unpersist(false);
    }
}
