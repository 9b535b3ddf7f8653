package cptquant.eval;

import java.util.List;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.ejml.dense.row.factory.LinearSolverFactory_DDRM;
import org.ejml.interfaces.linsol.LinearSolverDense;

/**
 * L2-regularised logistic regression (binary or multinomial), fitted by Newton's method (IRLS) on
 * standardised features. The objective is the summed cross-entropy plus {@code l2/2 * |W|^2} (intercepts not
 * penalised). The last class is the reference class with zero parameters, so two classes give exactly the
 * usual binary model (scikit-learn's {@code LogisticRegression(C = 1/l2)} on the same standardised data).
 * Newton steps are damped by backtracking so every step lowers the objective; the fit is deterministic.
 */
public final class LogisticRegression {
    private static final int MAX_ITERATIONS = 100;
    /** Stop when half the squared Newton decrement (the predicted objective decrease) falls below this. */
    private static final double TOLERANCE = 1e-10;

    private final double l2;

    public LogisticRegression(double l2) {
        if (!(l2 > 0)) throw new IllegalArgumentException("the L2 penalty must be > 0, got " + l2);
        this.l2 = l2;
    }

    /**
     * Fits a head to {@code rows} feature vectors (rows x dim, row-major) with labels in [0, classes).
     */
    public ClassifierHead fit(float[] features, int rows, int dim, int[] labels, int classes) {
        if (features.length != rows * dim || labels.length != rows || rows < 1 || classes < 2) {
            throw new IllegalArgumentException("need rows x dim features, one label per row and >= 2 classes");
        }
        for (int y : labels) {
            if (y < 0 || y >= classes) throw new IllegalArgumentException("label " + y + " outside [0, " + classes + ")");
        }
        double[] mean = new double[dim];
        double[] std = new double[dim];
        DMatrixRMaj z = standardised(features, rows, dim, mean, std);
        int p = dim + 1;
        int free = classes - 1;
        DMatrixRMaj theta = new DMatrixRMaj(free * p, 1);
        Problem problem = new Problem(z, labels, classes);
        double objective = problem.objective(theta);
        boolean converged = false;
        for (int it = 0; it < MAX_ITERATIONS && !converged; it++) {
            Step step = problem.newton(theta);
            converged = step.decrement() / 2 < TOLERANCE;
            DMatrixRMaj next = new DMatrixRMaj(theta.numRows, 1);
            // Backtracking (Armijo) line search; the floor on t ends it at round-off level near the optimum.
            for (double t = 1; t >= 1e-10; t /= 2) {
                CommonOps_DDRM.add(theta, -t, step.direction(), next);
                double candidate = problem.objective(next);
                if (candidate <= objective - 1e-4 * t * step.decrement()) {
                    theta = next;
                    objective = candidate;
                    break;
                }
            }
        }
        if (!converged) throw new IllegalStateException("logistic regression did not converge in " + MAX_ITERATIONS + " Newton steps");
        double[][] weights = new double[classes][dim];
        double[] bias = new double[classes];
        for (int k = 0; k < free; k++) {
            for (int j = 0; j < dim; j++) weights[k][j] = theta.get(k * p + j, 0);
            bias[k] = theta.get(k * p + dim, 0);
        }
        return new ClassifierHead(weights, bias, mean, std);
    }

    /**
     * The penalty from {@code grid} with the best {@code folds}-fold cross-validated accuracy (fold of row i:
     * i mod folds, so the choice is deterministic; the first of equal scores wins). Rows should already be
     * in random order, as a seeded subset is.
     */
    public static double choosePenalty(float[] features, int rows, int dim, int[] labels, int classes,
                                       List<Double> grid, int folds) {
        if (grid.isEmpty() || folds < 2 || rows < folds) {
            throw new IllegalArgumentException("need a non-empty grid, >= 2 folds and at least one row per fold");
        }
        double best = grid.getFirst();
        int bestCorrect = -1;
        for (double l2 : grid) {
            int correct = 0;
            for (int f = 0; f < folds; f++) {
                Split split = Split.of(features, rows, dim, labels, folds, f);
                int[] predicted = new LogisticRegression(l2)
                        .fit(split.trainX(), split.trainY().length, dim, split.trainY(), classes)
                        .predict(split.heldX(), split.heldY().length);
                for (int i = 0; i < predicted.length; i++) if (predicted[i] == split.heldY()[i]) correct++;
            }
            if (correct > bestCorrect) {
                bestCorrect = correct;
                best = l2;
            }
        }
        return best;
    }

    /** One cross-validation fold: rows with index mod folds == fold are held out. */
    private record Split(float[] trainX, int[] trainY, float[] heldX, int[] heldY) {
        static Split of(float[] x, int rows, int dim, int[] y, int folds, int fold) {
            int held = (rows - fold + folds - 1) / folds;
            Split s = new Split(new float[(rows - held) * dim], new int[rows - held], new float[held * dim], new int[held]);
            int t = 0;
            int h = 0;
            for (int r = 0; r < rows; r++) {
                if (r % folds == fold) {
                    System.arraycopy(x, r * dim, s.heldX, h * dim, dim);
                    s.heldY[h++] = y[r];
                } else {
                    System.arraycopy(x, r * dim, s.trainX, t * dim, dim);
                    s.trainY[t++] = y[r];
                }
            }
            return s;
        }
    }

    /** Standardised design matrix with a trailing column of ones; fills mean and std (constant features: 1). */
    private static DMatrixRMaj standardised(float[] x, int rows, int dim, double[] mean, double[] std) {
        for (int r = 0; r < rows; r++) for (int j = 0; j < dim; j++) mean[j] += x[r * dim + j];
        for (int j = 0; j < dim; j++) mean[j] /= rows;
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < dim; j++) {
                double d = x[r * dim + j] - mean[j];
                std[j] += d * d;
            }
        }
        for (int j = 0; j < dim; j++) {
            double s = Math.sqrt(std[j] / rows);
            std[j] = s > 1e-12 ? s : 1;
        }
        DMatrixRMaj z = new DMatrixRMaj(rows, dim + 1);
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < dim; j++) z.set(r, j, (x[r * dim + j] - mean[j]) / std[j]);
            z.set(r, dim, 1);
        }
        return z;
    }

    /** A Newton direction and the squared Newton decrement g . direction (twice the predicted decrease). */
    private record Step(DMatrixRMaj direction, double decrement) {}

    /** The penalised cross-entropy of one data set and its derivatives, in the (classes-1) x (dim+1) parameters. */
    private final class Problem {
        private final DMatrixRMaj z;
        private final int[] labels;
        private final int classes;
        private final int p;

        Problem(DMatrixRMaj z, int[] labels, int classes) {
            this.z = z;
            this.labels = labels;
            this.classes = classes;
            this.p = z.numCols;
        }

        /** Class probabilities, rows x classes; the reference class has score 0. */
        private double[][] probabilities(DMatrixRMaj theta) {
            int free = classes - 1;
            DMatrixRMaj params = DMatrixRMaj.wrap(free, p, theta.data);
            DMatrixRMaj scores = new DMatrixRMaj(z.numRows, free);
            CommonOps_DDRM.multTransB(z, params, scores);
            double[][] prob = new double[z.numRows][classes];
            for (int i = 0; i < z.numRows; i++) {
                double max = 0;
                for (int k = 0; k < free; k++) max = Math.max(max, scores.get(i, k));
                double sum = Math.exp(-max);
                prob[i][free] = sum;
                for (int k = 0; k < free; k++) {
                    prob[i][k] = Math.exp(scores.get(i, k) - max);
                    sum += prob[i][k];
                }
                for (int k = 0; k < classes; k++) prob[i][k] /= sum;
            }
            return prob;
        }

        double objective(DMatrixRMaj theta) {
            double[][] prob = probabilities(theta);
            double loss = 0;
            for (int i = 0; i < prob.length; i++) loss -= Math.log(prob[i][labels[i]]);
            return loss + l2 / 2 * penaltySquare(theta);
        }

        private double penaltySquare(DMatrixRMaj theta) {
            double s = 0;
            for (int i = 0; i < theta.numRows; i++) if (i % p != p - 1) s += theta.get(i) * theta.get(i);
            return s;
        }

        /** The Newton direction H^-1 g at theta. */
        Step newton(DMatrixRMaj theta) {
            int free = classes - 1;
            int n = z.numRows;
            int m = free * p;
            double[][] prob = probabilities(theta);
            DMatrixRMaj gradient = new DMatrixRMaj(m, 1);
            DMatrixRMaj residual = new DMatrixRMaj(n, 1);
            DMatrixRMaj block = new DMatrixRMaj(p, 1);
            for (int k = 0; k < free; k++) {
                for (int i = 0; i < n; i++) residual.set(i, prob[i][k] - (labels[i] == k ? 1 : 0));
                CommonOps_DDRM.multTransA(z, residual, block);
                for (int j = 0; j < p; j++) {
                    double penalty = j == p - 1 ? 0 : l2 * theta.get(k * p + j);
                    gradient.set(k * p + j, block.get(j) + penalty);
                }
            }
            DMatrixRMaj hessian = new DMatrixRMaj(m, m);
            DMatrixRMaj scaled = new DMatrixRMaj(n, p);
            DMatrixRMaj hkl = new DMatrixRMaj(p, p);
            for (int k = 0; k < free; k++) {
                for (int l = k; l < free; l++) {
                    for (int i = 0; i < n; i++) {
                        double w = prob[i][k] * ((k == l ? 1 : 0) - prob[i][l]);
                        for (int j = 0; j < p; j++) scaled.set(i, j, z.get(i, j) * w);
                    }
                    CommonOps_DDRM.multTransA(scaled, z, hkl);
                    CommonOps_DDRM.insert(hkl, hessian, k * p, l * p);
                    if (l != k) {
                        CommonOps_DDRM.transpose(hkl);
                        CommonOps_DDRM.insert(hkl, hessian, l * p, k * p);
                    }
                }
                for (int j = 0; j < p - 1; j++) hessian.add(k * p + j, k * p + j, l2);
            }
            LinearSolverDense<DMatrixRMaj> solver = LinearSolverFactory_DDRM.symmPosDef(m);
            if (!solver.setA(hessian)) {
                throw new IllegalStateException("logistic regression Hessian is not positive definite");
            }
            DMatrixRMaj step = new DMatrixRMaj(m, 1);
            solver.solve(gradient, step);
            return new Step(step, CommonOps_DDRM.dot(gradient, step));
        }
    }
}
