"""The shadow runner: serves ``shadow`` and ``live`` by running both paths and comparing them."""
