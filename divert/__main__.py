from divert.cli import main

main()
