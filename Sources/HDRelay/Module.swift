// HDRelay module: see Package.swift for what lives here.
