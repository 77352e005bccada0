"""The study's trainings wing: recipes (data and configs), the catalog of every trained table row, one plan per
training, training, shipped and released runs, the inventory, flows ahead (prepare), shipping and the scaling
study's runs. Imports only the setup wing below it."""
