# Hazard ratios and a zero-cell risk ratio as a reader would call metafor (issue 20): rma(yi, sei = ...) on
# log HR with the SE from the 95% CI, and rma(measure = "RR", ai, bi/n1i, ci, di/n2i, add = 1/2, to = "only0").
# The same numbers are the cases hr_log_reml*.json (GEN, vi = sei^2) and rr_zero_cell_reml.json.
suppressPackageStartupMessages(library(metafor))
z <- qnorm(0.975)
hr <- c(0.35, 0.62); lo <- c(0.16, 0.41); hi <- c(0.74, 0.94)
yi <- log(hr); sei <- (log(hi) - log(lo)) / (2 * z)
fit <- rma(yi, sei = sei, method = "REML", control = list(threshold = 1e-12, tol = 1e-12))
cat(sprintf("%.12f %.12f %.12f %.12f\n", fit$b, fit$ci.lb, fit$ci.ub, fit$tau2))
r <- rma(measure = "RR", ai = c(2, 0, 5), n1i = c(40, 25, 60), ci = c(9, 4, 11), n2i = c(38, 24, 58), add = 1/2, to = "only0", method = "REML", control = list(threshold = 1e-12, tol = 1e-12))
cat(sprintf("%.12f %.12f %.12f %.12f\n", r$b, r$ci.lb, r$ci.ub, r$tau2))
