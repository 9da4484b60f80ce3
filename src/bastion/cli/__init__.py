"""The ``bastion`` command line: thin modules that parse, call the library, print."""
