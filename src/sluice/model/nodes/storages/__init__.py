"""Storage node types: one module each; they store their single input table."""
