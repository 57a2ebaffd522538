import Glibc

// hometown-load: the load-test client operators run before festivals.
//   echo   blocking echo round trips (the first skeleton)
//   flash  a flash-sale stampede: N buyers on event loops race for limited stock; checks that
//          exactly the stock is sold and reports order-ack latency

let commandUsage = """
    usage: hometown-load echo [options]     (hometown-load echo --help)
           hometown-load flash [options]    (hometown-load flash --help)
    """

signal(SIGPIPE, SIG_IGN)
let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case "echo": exit(runEcho(arguments))
case "flash": exit(runFlash(Array(arguments.dropFirst())))
default:
    print(commandUsage)
    exit(2)
}
