import Glibc

// hometown-load: the load-test client operators run before festivals.
//   run    plays a scenario file, checks correctness, writes text/JSON/HTML reports
//   merge  combines JSON reports from several processes
//   echo   blocking echo round trips
//   fanout broadcast fan-out: delivered messages/s, latency and losses, measured from outside
//   flash  a flash-sale stampede: N buyers on event loops race for limited stock; checks that
//          exactly the stock is sold and reports order-ack latency

let commandUsage = """
    usage: hometown-load run --scenario FILE [--url ws://HOST:PORT ...] [--secret S] [--report FILE] [--html FILE] [--quiet]
           hometown-load merge REPORT.json... [--report FILE]
           hometown-load echo [options]     (hometown-load echo --help)
           hometown-load flash [options]    (hometown-load flash --help)
           hometown-load fanout [options]   (hometown-load fanout --help)
    """

signal(SIGPIPE, SIG_IGN)
let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case "echo": exit(runEcho(arguments))
case "flash": exit(runFlash(Array(arguments.dropFirst())))
case "fanout": exit(runFanout(Array(arguments.dropFirst())))
case "run": exit(runScenario(Array(arguments.dropFirst())))
case "merge": exit(runMerge(Array(arguments.dropFirst())))
default:
    print(commandUsage)
    exit(2)
}
