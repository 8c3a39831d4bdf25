from scitune.cli import main

main()
