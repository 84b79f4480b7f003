package dev.sparkautograd.dist;

import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.api.java.function.FlatMapFunction2;
import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;
import scala.runtime.AbstractFunction1;
import scala.runtime.AbstractFunction2;
import scala.runtime.BoxedUnit;

import java.io.Serializable;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;

/**
 * The RDD calls of a distributed step (the blocks zipped, each partition's partial, the job that brings the partials
 * back), made through Spark's Scala API with function objects of named classes.
 *
 * <p>Why: Spark's closure cleaner inspects every function handed to a transformation or a job. For a lambda (a Java
 * lambda goes through the Java API's own Scala lambda; {@code collect} passes one of RDD's) it loads and parses,
 * with ASM, the class file of the class that declared the lambda ({@code RDD}, {@code JavaRDDLike}: large classes),
 * and then Java-serializes the function to check it can be, on every call. A driver profile (JFR) of loss+gradient
 * steps on 4 partitions of 10 rows put 85-90% of the step's driver samples there. An instance of a named class is
 * not a closure to the cleaner, which passes it untouched; the Java lambdas these adapters hold are serialized with
 * the task as before, and fail at job submission, as before, if they capture something that is not serializable.
 */
final class StepCalls {
    private StepCalls() {}

    @SuppressWarnings("unchecked")
    private static <T> ClassTag<T> anyRef() {
        return (ClassTag<T>) ClassTag$.MODULE$.AnyRef();
    }

    /** {@code rdd.mapPartitions(f, true)}, without closure cleaning. */
    static <T, U> JavaRDD<U> mapPartitions(JavaRDD<T> rdd, FlatMapFunction<Iterator<T>, U> f) {
        return JavaRDD.fromRDD(rdd.rdd().mapPartitions(new PartitionMap<>(f), true, anyRef()), anyRef());
    }

    /** {@code a.zipPartitions(b, f)}, preserving a's partitioning, without closure cleaning. */
    static <A, B, V> JavaRDD<V> zipPartitions(JavaRDD<A> a, JavaRDD<B> b, FlatMapFunction2<Iterator<A>, Iterator<B>, V> f) {
        return JavaRDD.fromRDD(a.rdd().zipPartitions(b.rdd(), true, new PartitionZip<>(f), anyRef(), anyRef()), anyRef());
    }

    /** The blocks of aligned RDDs as tuples, one per block (as {@link Expr#zipAll}). */
    static JavaRDD<Block[]> zipAll(List<JavaRDD<Block>> rdds) {
        JavaRDD<Block[]> z = mapPartitions(rdds.get(0), Plan::single);
        for (int i = 1; i < rdds.size(); i++) z = zipPartitions(z, rdds.get(i), Plan::append);
        return z;
    }

    /**
     * One job returning the single element of every partition, in partition order (an error names a partition that
     * yields none or several). The results arrive in completion order; each is stored at its partition's index.
     */
    @SuppressWarnings("unchecked")
    static <T> List<T> onePerPartition(JavaRDD<T> rdd) {
        Object[] out = new Object[rdd.getNumPartitions()];
        rdd.context().runJob(rdd.rdd(), new Only<T>(), new StoreAt<T>(out), anyRef());
        return (List<T>) Arrays.asList(out);
    }

    /** Scala's {@code Iterator => Iterator} over a Java {@link FlatMapFunction}. */
    private static final class PartitionMap<T, U> extends AbstractFunction1<scala.collection.Iterator<T>, scala.collection.Iterator<U>>
            implements Serializable {
        private static final long serialVersionUID = 1L;
        private final FlatMapFunction<Iterator<T>, U> f;

        PartitionMap(FlatMapFunction<Iterator<T>, U> f) {
            this.f = f;
        }

        @Override
        public scala.collection.Iterator<U> apply(scala.collection.Iterator<T> it) {
            try {
                return scala.jdk.javaapi.CollectionConverters.asScala(f.call(scala.jdk.javaapi.CollectionConverters.asJava(it)));
            } catch (Exception e) {
                throw StepCalls.<RuntimeException>sneaky(e);
            }
        }
    }

    /** Scala's {@code (Iterator, Iterator) => Iterator} over a Java {@link FlatMapFunction2}. */
    private static final class PartitionZip<A, B, V>
            extends AbstractFunction2<scala.collection.Iterator<A>, scala.collection.Iterator<B>, scala.collection.Iterator<V>>
            implements Serializable {
        private static final long serialVersionUID = 1L;
        private final FlatMapFunction2<Iterator<A>, Iterator<B>, V> f;

        PartitionZip(FlatMapFunction2<Iterator<A>, Iterator<B>, V> f) {
            this.f = f;
        }

        @Override
        public scala.collection.Iterator<V> apply(scala.collection.Iterator<A> a, scala.collection.Iterator<B> b) {
            try {
                return scala.jdk.javaapi.CollectionConverters.asScala(f.call(scala.jdk.javaapi.CollectionConverters.asJava(a),
                        scala.jdk.javaapi.CollectionConverters.asJava(b)));
            } catch (Exception e) {
                throw StepCalls.<RuntimeException>sneaky(e);
            }
        }
    }

    /** A task's only element. */
    private static final class Only<T> extends AbstractFunction2<TaskContext, scala.collection.Iterator<T>, T> implements Serializable {
        private static final long serialVersionUID = 1L;

        @Override
        public T apply(TaskContext context, scala.collection.Iterator<T> it) {
            int n = 0;
            T only = null;
            while (it.hasNext()) {
                only = it.next();
                n++;
            }
            if (n != 1) throw new IllegalStateException("partition " + context.partitionId() + " yielded " + n + " partials instead of one");
            return only;
        }
    }

    /** The driver's result handler: each partition's result at its index. */
    private static final class StoreAt<T> extends AbstractFunction2<Object, T, BoxedUnit> {
        private final Object[] out;

        StoreAt(Object[] out) {
            this.out = out;
        }

        @Override
        public BoxedUnit apply(Object partition, T value) {
            out[(Integer) partition] = value;
            return BoxedUnit.UNIT;
        }
    }

    @SuppressWarnings("unchecked")
    private static <E extends Exception> E sneaky(Exception e) throws E {
        throw (E) e;
    }
}
