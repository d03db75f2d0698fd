// HDMetrics module: see Package.swift for what lives here.
