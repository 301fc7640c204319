"""Pharmacogenomics: star-allele calls from genotypes, CPIC phenotypes and prescribing checks.

>>> from medmine.pgx import call_gene, genotype_of
>>> call_gene("CYP2C19", genotype_of("CYP2C19", "*2/*17")).diplotype
'*2/*17'
"""

from medmine.pgx.calling import GENES, GeneCall, call_gene, genotype_of, load_gene

__all__ = ["GENES", "GeneCall", "call_gene", "genotype_of", "load_gene"]
